{#
    Every precursor movement with its licence checks and the volume score of
    its holder month. anomaly_reasons lists what is wrong, separated by
    semicolons:
    - no_licence: the shipper declared no licence;
    - unknown_licence: the declared licence is not in the register;
    - licence_not_valid: the movement falls outside the licence's validity;
    - substance_not_licensed: the licence covers another substance;
    - volume_spike: the holder month is a volume spike
      (agg_kz_precursor_holder_months).
#}

with

movements as (

    select * from {{ ref('stg_kz__precursor_movements') }}

),

licences as (

    select * from {{ ref('stg_kz__precursor_licences') }}

),

holder_months as (

    select * from {{ ref('agg_kz_precursor_holder_months') }}

),

checked as (

    select
        movements.movement_id,
        movements.waybill_no,
        movements.licence_id,
        movements.shipper_bin,
        movements.consignee_bin,
        movements.substance,
        movements.quantity_kg,
        movements.moved_at,
        movements.origin_region,
        movements.destination_region,
        holder_months.baseline_kg,
        holder_months.volume_ratio,
        movements.licence_id is null as has_no_licence,
        movements.licence_id is not null
        and licences.licence_id is null as has_unknown_licence,
        licences.licence_id is not null
        and cast(
            movements.moved_at as date
        ) not between licences.valid_from and licences.valid_to
            as is_outside_validity,
        licences.licence_id is not null
        and movements.substance != licences.substance
            as is_other_substance,
        coalesce(holder_months.is_volume_spike, false) as is_volume_spike

    from movements

    left join licences
        on movements.licence_id = licences.licence_id

    left join holder_months
        on
            movements.licence_id = holder_months.licence_id
            and cast(date_trunc('month', movements.moved_at) as date)
            = holder_months.month_start

),

final as (

    select
        movement_id,
        waybill_no,
        licence_id,
        shipper_bin,
        consignee_bin,
        substance,
        quantity_kg,
        moved_at,
        origin_region,
        destination_region,
        baseline_kg,
        volume_ratio,
        has_no_licence,
        has_unknown_licence,
        is_outside_validity,
        is_other_substance,
        is_volume_spike,
        concat_ws(
            ';',
            case when has_no_licence then 'no_licence' end,
            case when has_unknown_licence then 'unknown_licence' end,
            case when is_outside_validity then 'licence_not_valid' end,
            case when is_other_substance then 'substance_not_licensed' end,
            case when is_volume_spike then 'volume_spike' end
        ) as anomaly_reasons,
        has_no_licence
        or has_unknown_licence
        or is_outside_validity
        or is_other_substance
        or is_volume_spike as is_anomaly

    from checked

)

select * from final
