with

source as (

    select * from {{ source('kz', 'kz_bank_fraud') }}

),

renamed as (

    select
        cast(record_id as bigint) as report_id,
        report_no,
        bank_code,
        cast(transaction_at as timestamp) as transaction_at,
        cast(reported_at as timestamp) as reported_at,
        victim_iin,
        victim_phone,
        cast(amount_kzt as double precision) as amount_kzt,
        channel,
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
