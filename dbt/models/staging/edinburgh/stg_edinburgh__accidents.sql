with

source as (

    select * from {{ source('edinburgh', 'accidents') }}

),

renamed as (

    select
        {{ silver_incident_columns() }},
        no_vehicle as vehicle_count,
        no_casualt as casualty_count,
        road_type,
        speed_limi as speed_limit,
        light_cond as light_conditions,
        weather,
        acc_type as accident_type

    from source

),

final as (

    select * from renamed

)

select * from final
