{#
    Fraud incidents as the two feeds show them: every bank report is one
    incident, with the operator signal linked to it if any, and every operator
    signal without a bank report is another. An operator-only incident has no
    IIN, so its victim's IIN pseudonym is looked up from the bank reports of the
    same phone pseudonym, when exactly one IIN goes with that phone.
#}

with

reports as (

    select * from {{ ref('stg_kz__bank_fraud_reports') }}

),

signals as (

    select * from {{ ref('stg_kz__operator_fraud_signals') }}

),

links as (

    select * from {{ ref('int_kz__fraud_feed_links') }}

),

phone_iins as (

    select
        victim_phone,
        min(victim_iin) as victim_iin,
        count(distinct victim_iin) as iin_count

    from reports

    where victim_iin is not null

    group by victim_phone

),

from_banks as (

    select
        'bank:' || cast(reports.report_id as varchar) as fraud_incident_id,
        reports.report_id,
        links.signal_id,
        reports.transaction_at as incident_at,
        reports.region_code,
        reports.scheme,
        reports.victim_iin,
        reports.victim_phone,
        case when reports.victim_iin is not null then 'bank_iin' end
            as iin_source,
        reports.amount_kzt

    from reports

    left join links
        on reports.report_id = links.report_id

),

operator_only as (

    select
        'operator:' || cast(signals.signal_id as varchar) as fraud_incident_id,
        cast(null as bigint) as report_id,
        signals.signal_id,
        signals.detected_at as incident_at,
        signals.region_code,
        signals.scheme,
        phone_iins.victim_iin,
        signals.victim_phone,
        case when phone_iins.victim_iin is not null then 'phone_lookup' end
            as iin_source,
        cast(null as double precision) as amount_kzt

    from signals

    left join phone_iins
        on
            signals.victim_phone = phone_iins.victim_phone
            and phone_iins.iin_count = 1

    where not exists (
        select 1
        from links
        where links.signal_id = signals.signal_id
    )

),

final as (

    select * from from_banks
    union all
    select * from operator_only

)

select * from final
