with

source as (

    select * from {{ source('edinburgh', 'accidents') }}

),

renamed as (

    select
        {{ silver_incident_columns() }},
        cast(no_vehicle as integer) as vehicle_count,
        cast(no_casualt as integer) as casualty_count,
        road_type,
        cast(speed_limi as integer) as speed_limit_mph,
        light_cond as light_conditions,
        weather,
        acc_type as accident_type

    from source

),

final as (

    select * from renamed

)

select * from final
