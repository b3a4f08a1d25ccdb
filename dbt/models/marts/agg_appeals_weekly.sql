with

appeals as (

    select * from {{ ref('int_appeals__triaged') }}

),

final as (

    select
        category,
        region,
        region_code,
        urgency,
        {{ week_start('registered_on') }} as week_start,
        count(*) as appeal_count,
        sum(case when is_duplicate then 1 else 0 end) as duplicate_count,
        sum(
            case when is_duplicate_predicted then 1 else 0 end
        ) as duplicate_predicted_count,
        sum(case when status = 'решена' then 1 else 0 end) as resolved_count,
        sum(case when is_overdue then 1 else 0 end) as overdue_count

    from appeals

    group by
        category,
        region,
        region_code,
        urgency,
        {{ week_start('registered_on') }}

)

select * from final
