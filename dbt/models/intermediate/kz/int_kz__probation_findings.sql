{#
    Probation check-ins that break a supervision rule, one row per check-in
    and rule:
    - missed_without_warning: a missed check-in got no warning within
      var('kz_checkin_warning_days') days of its scheduled date;
    - checkin_after_sentence_end: a check-in took place after the last day of
      the sentence, when the person was no longer under supervision.
#}

{%- set warning_days = var('kz_checkin_warning_days') | int -%}

with

checkins as (

    select * from {{ ref('stg_kz__probation_checkins') }}

),

probationers as (

    select * from {{ ref('stg_kz__probationers') }}

),

missed_without_warning as (

    select
        checkin_id,
        'missed_without_warning' as rule_name,
        cast(warning_issued_on - scheduled_date as double precision)
            as observed_value,
        cast({{ warning_days }} as double precision) as limit_value,
        case
            when warning_issued_on is null then 'no warning issued'
            else 'warning issued on ' || cast(warning_issued_on as varchar)
        end as detail

    from checkins

    where
        status = 'missed'
        and (
            warning_issued_on is null
            or warning_issued_on > scheduled_date + {{ warning_days }}
        )

),

after_sentence_end as (

    select
        checkins.checkin_id,
        'checkin_after_sentence_end' as rule_name,
        cast(
            cast(checkins.checked_in_at as date)
            - probationers.sentence_end as double precision
        )
            as observed_value,
        cast(0 as double precision) as limit_value,
        'checked in on '
        || cast(cast(checkins.checked_in_at as date) as varchar)
        || ', sentence ended on '
        || cast(probationers.sentence_end as varchar) as detail

    from checkins

    inner join probationers
        on checkins.person_id = probationers.person_id

    where cast(checkins.checked_in_at as date) > probationers.sentence_end

),

findings as (

    select * from missed_without_warning
    union all
    select * from after_sentence_end

),

final as (

    select
        findings.checkin_id,
        findings.rule_name,
        findings.observed_value,
        findings.limit_value,
        findings.detail,
        probationers.region_code,
        cast(checkins.scheduled_date as timestamp) as event_at

    from findings

    inner join checkins
        on findings.checkin_id = checkins.checkin_id

    inner join probationers
        on checkins.person_id = probationers.person_id

)

select * from final
