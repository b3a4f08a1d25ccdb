{#
    An appeal is overdue when it is not resolved (status 'решена') and more
    than var('appeal_response_days') days have passed since registered_on.
    The reference date is var('appeals_as_of') when set, else today's date.
#}
{%- set response_days = var('appeal_response_days') | int -%}
{%- set as_of = var('appeals_as_of', none) -%}

with

appeals as (

    select * from {{ ref('stg_appeals__appeals') }}

),

deadlines as (

    select
        appeal_id,
        category,
        region,
        urgency,
        status,
        is_duplicate,
        registered_on,
        cast(
            registered_on + interval '{{ response_days }} days' as date
        ) as response_due_on,
        {% if as_of -%}
            cast('{{ as_of }}' as date)
        {%- else -%}
            current_date
        {%- endif %} as as_of_date

    from appeals

    where status != 'решена'

),

final as (

    select
        appeal_id,
        category,
        region,
        urgency,
        status,
        is_duplicate,
        registered_on,
        response_due_on,
        as_of_date,
        as_of_date - response_due_on as days_overdue

    from deadlines

    where as_of_date > response_due_on

)

select * from final
