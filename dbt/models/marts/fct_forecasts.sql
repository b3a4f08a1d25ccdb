with

forecasts as (

    select * from {{ ref('stg_gold__forecasts') }}

),

-- The latest run of a target is the one with the newest created_at. Ties on
-- created_at go to the larger run_id, so that exactly one run wins.
runs as (

    select
        target,
        run_id,
        max(created_at) as created_at

    from forecasts

    group by
        target,
        run_id

),

ranked_runs as (

    select
        target,
        run_id,
        row_number() over (
            partition by target
            order by created_at desc, run_id desc
        ) as run_recency

    from runs

),

final as (

    select
        forecasts.target,
        forecasts.unit,
        forecasts.area_id,
        forecasts.h3_cell,
        forecasts.period,
        forecasts.period_start,
        -- The last day of the period: a day, a Monday-Sunday week or a calendar month.
        cast(
            case forecasts.period
                when 'day' then forecasts.period_start
                when 'week' then forecasts.period_start + interval '6 days'
                when 'month'
                    then forecasts.period_start + interval '1 month' - interval '1 day'
            end as date
        ) as period_end,
        forecasts.run_id,
        forecasts.model,
        forecasts.predicted,
        forecasts.predicted_lower,
        forecasts.predicted_upper,
        forecasts.predicted_upper - forecasts.predicted_lower as interval_width,
        forecasts.risk_rank,
        {{ json_list_item_text('forecasts.top_contributions', 0, 'feature') }} as top_feature,
        forecasts.top_contributions,
        forecasts.created_at

    from forecasts

    inner join ranked_runs
        on
            forecasts.target = ranked_runs.target
            and forecasts.run_id = ranked_runs.run_id

    where ranked_runs.run_recency = 1

)

select * from final
