{#
    Administrative offence protocols that break a supervision rule, one row per
    protocol and rule:
    - penalty_above_maximum: the fine in MRP exceeds the article's maximum;
    - decision_after_limitation: the decision came more than
      var('kz_admin_limitation_days') days after the offence;
    - duplicate_penalty: an earlier decision already penalised the same
      offender for the same event, so every later protocol is a finding.
#}

{%- set limitation_days = var('kz_admin_limitation_days') | int -%}

with

offences as (

    select * from {{ ref('stg_kz__admin_offences') }}

),

articles as (

    select * from {{ ref('stg_kz__admin_articles') }}

),

above_maximum as (

    select
        offences.offence_id,
        'penalty_above_maximum' as rule_name,
        cast(offences.penalty_mrp as double precision) as observed_value,
        cast(articles.max_fine_mrp as double precision) as limit_value,
        'penalty_mrp=' || cast(offences.penalty_mrp as varchar)
        || ' max_fine_mrp=' || cast(articles.max_fine_mrp as varchar) as detail

    from offences

    inner join articles
        on offences.article = articles.article

    where offences.penalty_mrp > articles.max_fine_mrp

),

after_limitation as (

    select
        offence_id,
        'decision_after_limitation' as rule_name,
        cast(
            extract(epoch from decision_at) - extract(epoch from offence_at)
            as double precision
        )
        / 86400.0 as observed_value,
        cast({{ limitation_days }} as double precision) as limit_value,
        'decided ' || cast(cast(decision_at as date) as varchar)
        || ' for an offence on '
        || cast(cast(offence_at as date) as varchar) as detail

    from offences

    where decision_at > offence_at + interval '{{ limitation_days }} days'

),

ordered_decisions as (

    select
        offence_id,
        event_ref,
        first_value(offence_id) over (
            partition by event_ref, offender_iin
            order by decision_at, offence_id
        ) as first_offence_id,
        row_number() over (
            partition by event_ref, offender_iin
            order by decision_at, offence_id
        ) as decision_number

    from offences

),

duplicates as (

    select
        offence_id,
        'duplicate_penalty' as rule_name,
        cast(decision_number as double precision) as observed_value,
        cast(1 as double precision) as limit_value,
        'event ' || event_ref || ' already penalised by offence_id '
        || cast(first_offence_id as varchar) as detail

    from ordered_decisions

    where decision_number > 1

),

findings as (

    select * from above_maximum
    union all
    select * from after_limitation
    union all
    select * from duplicates

),

final as (

    select
        findings.offence_id,
        findings.rule_name,
        findings.observed_value,
        findings.limit_value,
        findings.detail,
        offences.region_code,
        offences.article,
        offences.offence_at as event_at

    from findings

    inner join offences
        on findings.offence_id = offences.offence_id

)

select * from final
