with

source as (

    select * from {{ source('kz', 'kz_operator_fraud') }}

),

renamed as (

    select
        cast(record_id as bigint) as signal_id,
        operator_code,
        cast(detected_at as timestamp) as detected_at,
        victim_phone,
        caller_phone,
        signal_type,
        cast(call_duration_s as integer) as call_duration_s,
        scheme,
        region_code,
        city,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
