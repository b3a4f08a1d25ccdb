with

source as (

    select * from {{ source('gold', 'forecasts') }}

),

renamed as (

    select
        target,
        run_id,
        model,
        period,
        period_start,
        unit,
        area_id,
        h3_cell,
        predicted,
        lower as predicted_lower,
        upper as predicted_upper,
        cast(risk_rank as integer) as risk_rank,
        top_contributions,
        created_at

    from source

),

final as (

    select * from renamed

)

select * from final
