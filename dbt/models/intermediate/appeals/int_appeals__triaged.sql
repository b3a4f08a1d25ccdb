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

triage as (

    select * from {{ ref('stg_text__appeals') }}

),

joined as (

    select
        appeals.appeal_id,
        appeals.category,
        appeals.urgency,
        appeals.region,
        coalesce(triage.region_code, 'UNK') as region_code,
        appeals.status,
        appeals.is_duplicate,
        coalesce(
            triage.is_duplicate_predicted, false
        ) as is_duplicate_predicted,
        triage.duplicate_of_id,
        appeals.registered_on,
        cast(
            appeals.registered_on + interval '{{ response_days }} days' as date
        ) as response_due_on,
        {% if as_of -%}
            cast('{{ as_of }}' as date)
        {%- else -%}
            current_date
        {%- endif %} as as_of_date

    from appeals

    left join triage
        on appeals.appeal_id = triage.appeal_id

),

final as (

    select
        *,
        status != 'решена' and as_of_date > response_due_on as is_overdue

    from joined

)

select * from final
