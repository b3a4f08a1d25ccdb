with

source as (

    select * from {{ source('lake', 'h3_cells') }}

),

renamed as (

    select
        h3_cell,
        cast(resolution as integer) as resolution,
        parent_r7,
        parent_r8,
        centroid_lat,
        centroid_lon,
        area_km2,
        city,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
