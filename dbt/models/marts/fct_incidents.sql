with

incidents as (

    select * from {{ ref('int_incidents__unioned') }}

),

keyed as (

    select
        md5(source || '|' || incident_id) as incident_key,
        incident_id,
        source,
        city,
        category,
        offense,
        occurred_at_utc,
        occurred_at_local,
        local_date,
        {{ week_start('local_date') }} as week_start,
        timezone,
        time_precision,
        lat,
        lon,
        h3_r7,
        h3_r8,
        h3_r9,
        quality_flags,
        quality_flags != '' as has_quality_flags,
        batch_id,
        loaded_at

    from incidents

),

final as (

    select * from keyed

)

select * from final
