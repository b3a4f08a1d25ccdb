with

appeals as (

    select * from {{ ref('int_appeals__triaged') }}

),

final as (

    select
        appeal_id,
        category,
        region,
        region_code,
        urgency,
        status,
        is_duplicate,
        registered_on,
        response_due_on,
        as_of_date,
        as_of_date - response_due_on as days_overdue

    from appeals

    where is_overdue

)

select * from final
