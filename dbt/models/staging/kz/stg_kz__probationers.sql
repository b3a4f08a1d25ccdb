with

source as (

    select * from {{ source('kz', 'kz_probationers') }}

),

renamed as (

    select
        cast(record_id as bigint) as person_id,
        iin,
        region_code,
        city,
        office_code,
        cast(sentence_start as date) as sentence_start,
        cast(sentence_end as date) as sentence_end,
        cast(checkin_interval_days as integer) as checkin_interval_days,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
