with

source as (

    select * from {{ source('portland', 'districts') }}

),

renamed as (

    -- Shapefile field names are upper case, quoted so that PostgreSQL keeps them.
    select
        "DISTRICT" as district,
        "PRECINCT" as precinct,
        geometry_wkt as outline_wkt,
        cast(geometry_area_km2 as double precision) as area_km2,
        cast("Shape_Area" as double precision) as source_area_sq_mi,
        cast(geometry_centroid_lat as double precision) as centroid_lat,
        cast(geometry_centroid_lon as double precision) as centroid_lon,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
