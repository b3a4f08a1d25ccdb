{#
    Match fraud incidents to registered fraud cases: the same victim IIN
    pseudonym and an offence time at most var('kz_fraud_match_window_hours')
    from the incident time. A pair is kept when each side is the other's
    nearest, so two frauds against one victim in the window cannot both claim
    one case.

    NOTE: mutual-nearest matching is not an optimal assignment. An incident
    whose nearest case is nearer to another incident stays unmatched, even if
    a farther case of its victim is free.

    NOTE: materialised as a table for the same DuckDB 1.5.5 reason as
    int_kz__fraud_feed_links.
#}
{{ config(materialized='table') }}

{%- set window_seconds = var('kz_fraud_match_window_hours') | int * 3600 -%}

with

incidents as (

    select * from {{ ref('int_kz__fraud_incidents') }}

),

cases as (

    select * from {{ ref('stg_kz__crime_cases') }}

    where category = 'fraud'

),

candidates as (

    select
        incidents.fraud_incident_id,
        cases.case_id,
        cases.erdr_no,
        cases.registered_at,
        -- PostgreSQL's extract returns numeric, so the cast keeps one type.
        cast(
            abs(
                extract(epoch from cases.occurred_at)
                - extract(epoch from incidents.incident_at)
            )
            as double precision
        ) as gap_seconds

    from incidents

    inner join cases
        on
            incidents.victim_iin = cases.victim_iin
            and cases.occurred_at
            between incidents.incident_at
            - interval '{{ window_seconds }} seconds'
            and incidents.incident_at + interval '{{ window_seconds }} seconds'

),

nearest as (

    {{ mutual_nearest_pairs(
        'candidates', 'fraud_incident_id', 'case_id', 'gap_seconds'
    ) }}

),

final as (

    select
        fraud_incident_id,
        case_id,
        erdr_no,
        registered_at,
        gap_seconds

    from nearest

)

select * from final
