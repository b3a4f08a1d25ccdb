{#
    Incremental: a run selects only the silver rows loaded after the newest
    loaded_at already in the table, and delete+insert replaces the rows with
    the same incident_key, so a late-arriving update of an incident is
    merged and a rerun without new loads changes nothing. dbt_updated_at
    marks the rows that a run wrote, so that the data tests of an incremental
    run check those rows (see _marts.yml).
    NOTE: rows deleted from silver stay here until a --full-refresh.
#}
{{
    config(
        materialized='incremental',
        unique_key='incident_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

with

incidents as (

    select * from {{ ref('int_incidents__unioned') }}

    {% if is_incremental() %}
        where loaded_at > (select max(built.loaded_at) from {{ this }} as built)
    {% endif %}

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
        loaded_at,
        cast('{{ run_started_at }}' as timestamp with time zone) as dbt_updated_at

    from incidents

),

final as (

    select * from keyed

)

select * from final
