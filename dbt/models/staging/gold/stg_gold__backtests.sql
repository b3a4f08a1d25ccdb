with

source as (

    select * from {{ source('gold', 'backtests') }}

),

renamed as (

    select
        target,
        run_id,
        cast(fold as integer) as fold,
        period_start,
        method,
        metric,
        value as metric_value

    from source

),

final as (

    select * from renamed

)

select * from final
