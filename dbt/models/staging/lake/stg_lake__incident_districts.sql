with

source as (

    select * from {{ source('lake', 'incident_districts') }}

),

final as (

    select
        source,
        incident_id,
        district,
        _loaded_at as loaded_at

    from source

)

select * from final
