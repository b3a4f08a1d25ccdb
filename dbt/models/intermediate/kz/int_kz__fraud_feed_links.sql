{#
    Link each operator signal to the bank report of the same incident: the same
    victim phone pseudonym and incident times at most
    var('kz_fraud_feed_link_minutes') apart. A pair is kept when each side is
    the other's nearest, so each signal and each report is used at most once.

    NOTE: materialised as a table because, as a view, DuckDB 1.5.5 returned
    wrong rows for a query that read it twice (once joined, once anti-joined).
    The rows were right with its common_subplan optimizer disabled.
#}
{{ config(materialized='table') }}

{%- set link_seconds = var('kz_fraud_feed_link_minutes') | int * 60 -%}

with

reports as (

    select * from {{ ref('stg_kz__bank_fraud_reports') }}

),

signals as (

    select * from {{ ref('stg_kz__operator_fraud_signals') }}

),

candidates as (

    select
        signals.signal_id,
        reports.report_id,
        -- PostgreSQL's extract returns numeric, so the cast keeps one type.
        cast(
            abs(
                extract(epoch from signals.detected_at)
                - extract(epoch from reports.transaction_at)
            )
            as double precision
        ) as gap_seconds

    from signals

    inner join reports
        on
            signals.victim_phone = reports.victim_phone
            and signals.detected_at
            between reports.transaction_at
            - interval '{{ link_seconds }} seconds'
            and reports.transaction_at + interval '{{ link_seconds }} seconds'

),

nearest as (

    {{ mutual_nearest_pairs(
        'candidates', 'signal_id', 'report_id', 'gap_seconds'
    ) }}

),

final as (

    select
        signal_id,
        report_id,
        gap_seconds

    from nearest

)

select * from final
