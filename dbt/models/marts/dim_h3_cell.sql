with

cells as (

    select * from {{ ref('stg_lake__h3_cells') }}

),

final as (

    select
        h3_cell,
        resolution,
        parent_r7,
        parent_r8,
        centroid_lat,
        centroid_lon,
        area_km2,
        city

    from cells

)

select * from final
