with

items as (

    select * from {{ ref('stg_text__media_items') }}

),

final as (

    select
        week_start,
        threat_class,
        region_code,
        count(*) as item_count,
        sum(case when language = 'ru' then 1 else 0 end) as russian_count,
        sum(case when language = 'kk' then 1 else 0 end) as kazakh_count,
        sum(
            case when tag_source = 'lexicon' then 1 else 0 end
        ) as lexicon_tagged_count,
        sum(
            case when tag_source = 'model' then 1 else 0 end
        ) as model_tagged_count

    from items

    group by
        week_start,
        threat_class,
        region_code

)

select * from final
