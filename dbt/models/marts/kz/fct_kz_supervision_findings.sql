with

offence_findings as (

    select * from {{ ref('int_kz__admin_offence_findings') }}

),

probation_findings as (

    select * from {{ ref('int_kz__probation_findings') }}

),

findings as (

    select
        'admin_offences' as source_database,
        'offences' as source_table,
        offence_id as record_id,
        rule_name,
        region_code,
        event_at,
        observed_value,
        limit_value,
        detail

    from offence_findings

    union all

    select
        'probation' as source_database,
        'checkins' as source_table,
        checkin_id as record_id,
        rule_name,
        region_code,
        event_at,
        observed_value,
        limit_value,
        detail

    from probation_findings

),

final as (

    select
        source_table
        || ':'
        || cast(record_id as varchar)
        || ':'
        || rule_name as finding_id,
        source_database,
        source_table,
        record_id,
        rule_name,
        region_code,
        event_at,
        {{ week_start('event_at') }} as week_start,
        observed_value,
        limit_value,
        detail

    from findings

)

select * from final
