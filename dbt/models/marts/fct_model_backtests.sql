with

backtests as (

    select * from {{ ref('stg_gold__backtests') }}

),

final as (

    select
        target,
        run_id,
        fold,
        period_start,
        method,
        metric,
        metric_value

    from backtests

)

select * from final
