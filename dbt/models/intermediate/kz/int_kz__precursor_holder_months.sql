{#
    Monthly volume of every licence holder against its own history. The
    baseline is the median quantity per movement of the holder's movements in
    its other months, so a month whose movements are several times the usual
    size stands out whatever the number of movements. log_kg_stddev is the
    standard deviation of ln(kg) over the same movements, which
    agg_kz_precursor_holder_months uses to tell a spike from chance. Months of
    a holder with fewer than var('kz_precursor_min_history_months') other
    months get no baseline. Only movements that declare a licence count,
    because an undeclared movement has no holder.
#}

with

movements as (

    select
        licence_id,
        cast(date_trunc('month', moved_at) as date) as month_start,
        quantity_kg,
        case when quantity_kg > 0 then ln(quantity_kg) end as log_kg

    from {{ ref('stg_kz__precursor_movements') }}

    where licence_id is not null

),

holder_months as (

    select
        licence_id,
        month_start,
        count(*) as movement_count,
        sum(quantity_kg) as total_kg,
        avg(quantity_kg) as mean_kg,
        avg(log_kg) as mean_log_kg

    from movements

    group by licence_id, month_start

),

history as (

    select
        holder_months.licence_id,
        holder_months.month_start,
        percentile_cont(0.5) within group (order by movements.quantity_kg)
            as baseline_kg,
        stddev_samp(movements.log_kg) as log_kg_stddev,
        count(distinct movements.month_start) as history_months

    from holder_months

    inner join movements
        on
            holder_months.licence_id = movements.licence_id
            and holder_months.month_start != movements.month_start

    group by holder_months.licence_id, holder_months.month_start

),

final as (

    select
        holder_months.licence_id,
        holder_months.month_start,
        holder_months.movement_count,
        holder_months.total_kg,
        holder_months.mean_kg,
        holder_months.mean_log_kg,
        coalesce(history.history_months, 0) as history_months,
        case
            when
                history.history_months
                >= {{ var('kz_precursor_min_history_months') | int }}
                then history.baseline_kg
        end as baseline_kg,
        case
            when
                history.history_months
                >= {{ var('kz_precursor_min_history_months') | int }}
                then history.log_kg_stddev
        end as log_kg_stddev

    from holder_months

    left join history
        on
            holder_months.licence_id = history.licence_id
            and holder_months.month_start = history.month_start

)

select * from final
