with

source as (

    select * from {{ source('portland', 'calls') }}

),

renamed as (

    select
        {{ silver_incident_columns() }},
        call_group,
        final_case_type,
        case_desc as case_description,
        census_tract

    from source

),

final as (

    select * from renamed

)

select * from final
