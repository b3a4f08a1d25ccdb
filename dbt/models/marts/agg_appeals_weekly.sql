with

appeals as (

    select * from {{ ref('stg_appeals__appeals') }}

),

final as (

    select
        category,
        region,
        urgency,
        {{ week_start('registered_on') }} as week_start,
        count(*) as appeal_count,
        sum(case when is_duplicate then 1 else 0 end) as duplicate_count,
        sum(case when status = 'решена' then 1 else 0 end) as resolved_count

    from appeals

    group by
        category,
        region,
        urgency,
        {{ week_start('registered_on') }}

)

select * from final
