with

source as (

    select * from {{ source('kz', 'kz_regions') }}

),

renamed as (

    select
        region_code,
        region_name,
        region_kind,
        cast(place_count as integer) as place_count,
        geometry_wkt as outline_wkt,
        cast(geometry_area_km2 as double precision) as area_km2,
        cast(geometry_centroid_lat as double precision) as centroid_lat,
        cast(geometry_centroid_lon as double precision) as centroid_lon,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
