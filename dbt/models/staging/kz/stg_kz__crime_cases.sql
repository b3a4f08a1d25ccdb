with

source as (

    select * from {{ source('kz', 'kz_crime_cases') }}

),

renamed as (

    select
        incident_id as case_id,
        erdr_no,
        offense as crime_type,
        category,
        article,
        region_code,
        city,
        occurred_at_utc,
        -- Asia/Almaty wall-clock time, as the registry stores it.
        occurred_at_local as occurred_at,
        cast(registered_at as timestamp) as registered_at,
        victim_iin,
        status,
        cast(damage_kzt as double precision) as damage_kzt,
        h3_r8,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
