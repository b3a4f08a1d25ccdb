with

source as (

    select * from {{ source('houston', 'offenses') }}

),

renamed as (

    select
        {{ silver_incident_columns() }},
        premise,
        beat,
        location as location_type,
        address as address_pseudonym,
        block as block_pseudonym

    from source

),

final as (

    select * from renamed

)

select * from final
