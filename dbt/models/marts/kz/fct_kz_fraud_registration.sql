{#
    registration_status of a fraud incident:
    - registered: a fraud case matches it (int_kz__fraud_case_matches);
    - unregistered: its victim's IIN is known and no case matches;
    - unidentified: an operator-only incident whose phone links to no IIN,
      so the registry cannot be searched for it.
#}

with

incidents as (

    select * from {{ ref('int_kz__fraud_incidents') }}

),

matches as (

    select * from {{ ref('int_kz__fraud_case_matches') }}

),

final as (

    select
        incidents.fraud_incident_id,
        incidents.report_id,
        incidents.signal_id,
        incidents.incident_at,
        {{ week_start('incidents.incident_at') }} as week_start,
        incidents.region_code,
        incidents.scheme,
        incidents.amount_kzt,
        incidents.iin_source,
        matches.case_id,
        matches.erdr_no,
        matches.registered_at,
        case
            when matches.case_id is not null then 'registered'
            when incidents.victim_iin is not null then 'unregistered'
            else 'unidentified'
        end as registration_status

    from incidents

    left join matches
        on incidents.fraud_incident_id = matches.fraud_incident_id

)

select * from final
