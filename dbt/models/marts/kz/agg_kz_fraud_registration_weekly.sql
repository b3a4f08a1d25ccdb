{#
    unregistered_share = unregistered / (registered + unregistered). The
    unidentified incidents stay out of the share because the registry cannot
    be searched for them, and are counted in their own column.
#}

with

incidents as (

    select * from {{ ref('fct_kz_fraud_registration') }}

),

counts as (

    select
        region_code,
        week_start,
        count(*) as incident_count,
        sum(case when registration_status = 'registered' then 1 else 0 end)
            as registered_count,
        sum(case when registration_status = 'unregistered' then 1 else 0 end)
            as unregistered_count,
        sum(case when registration_status = 'unidentified' then 1 else 0 end)
            as unidentified_count

    from incidents

    group by region_code, week_start

),

final as (

    select
        region_code,
        week_start,
        incident_count,
        registered_count,
        unregistered_count,
        unidentified_count,
        cast(unregistered_count as double precision)
        / nullif(registered_count + unregistered_count, 0) as unregistered_share

    from counts

)

select * from final
