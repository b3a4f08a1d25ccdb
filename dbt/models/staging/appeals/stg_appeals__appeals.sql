with

source as (

    select * from {{ source('appeals', 'citizen_appeals') }}

),

renamed as (

    select
        record_id as appeal_id,
        category,
        urgency,
        region,
        status,
        text_ru,
        text_kz,
        reply_text,
        lower(duplicate) = 'true' as is_duplicate,
        quality_flags,
        -- NOTE: the dump has no registration date, so the load date
        -- is used in its place.
        cast({{ utc_timestamp('_loaded_at') }} as date) as registered_on,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
