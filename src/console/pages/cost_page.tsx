import { estimateCost, type ModeCost, type StreamCost } from '../../metrics/cost.js';
import { formatHours, formatMoney } from '../format.js';
import { useMetrics, useSession } from '../session.js';
import { Empty, ErrorNote, PageHeading } from '../ui.js';

/*
 * What the metered traffic would cost on Kinesis Data Streams (src/metrics/cost.ts): per
 * stream both ways, provisioned and on-demand, over the period observed and projected to a
 * month, with the server's price table (`shardline serve --prices`).
 */

export function CostPage() {
  const { config } = useSession();
  const { history, error } = useMetrics();
  const latest = history.at(-1);
  const estimate = latest === undefined ? null : estimateCost(latest, config.prices);
  const money = (amount: number) => formatMoney(amount, config.prices.currency);
  return (
    <>
      <PageHeading>Cost</PageHeading>
      <p>
        Prices: {config.prices.currency}, {config.prices.region}
        {config.prices.note === undefined ? '' : `. ${config.prices.note}`}
      </p>
      <ErrorNote error={error} context="Reading the metrics failed" />
      {estimate === null ? (
        error === undefined && <p>Loading…</p>
      ) : estimate.streams.length === 0 ? (
        <Empty>No streams to price.</Empty>
      ) : (
        <>
          <div class="scroll">
            <table class="cost">
              <caption>Estimated cost per stream; the mode a stream is in is marked (current)</caption>
              <thead>
                <tr>
                  <th scope="col" rowSpan={2}>
                    Stream
                  </th>
                  <th scope="col" rowSpan={2}>
                    Observed for
                  </th>
                  <th scope="colgroup" colSpan={2}>
                    Provisioned
                  </th>
                  <th scope="colgroup" colSpan={2}>
                    On-demand
                  </th>
                </tr>
                <tr>
                  <th scope="col">Observed</th>
                  <th scope="col">Per month</th>
                  <th scope="col">Observed</th>
                  <th scope="col">Per month</th>
                </tr>
              </thead>
              <tbody>
                {estimate.streams.map((stream) => (
                  <tr key={stream.streamName} data-stream={stream.streamName}>
                    <th scope="row">{stream.streamName}</th>
                    <td class="number">{formatHours(stream.observedHours)}</td>
                    <ModeCells cost={stream.provisioned} current={stream.mode === 'PROVISIONED'} money={money} />
                    <ModeCells cost={stream.onDemand} current={stream.mode === 'ON_DEMAND'} money={money} />
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row" colSpan={2}>
                    Total, each stream in its mode
                  </th>
                  <td class="number" colSpan={4}>
                    {money(estimate.total)} observed, {money(estimate.monthly)} per month
                  </td>
                </tr>
              </tfoot>
            </table>
          </div>
          {estimate.streams.map((stream) => (
            <CostItems key={stream.streamName} stream={stream} money={money} />
          ))}
        </>
      )}
    </>
  );
}

function ModeCells({ cost, current, money }: { cost: ModeCost; current: boolean; money: (amount: number) => string }) {
  const marked = current ? ' (current)' : '';
  return (
    <>
      <td class={current ? 'number current' : 'number'}>
        {money(cost.total)}
        {marked}
      </td>
      <td class={current ? 'number current' : 'number'}>
        {money(cost.monthly)}
        {marked}
      </td>
    </>
  );
}

function CostItems({ stream, money }: { stream: StreamCost; money: (amount: number) => string }) {
  return (
    <details class="cost-items">
      <summary>Items of {stream.streamName}</summary>
      {(['provisioned', 'onDemand'] as const).map((mode) => (
        <table key={mode}>
          <caption>{mode === 'provisioned' ? 'Provisioned' : 'On-demand'}, over the observed period</caption>
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col">Quantity</th>
              <th scope="col">Unit price</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {stream[mode].items.map((item) => (
              <tr key={item.item}>
                <th scope="row">{item.item}</th>
                <td class="number">
                  {item.quantity.toPrecision(4)} {item.unit}
                </td>
                <td class="number">{money(item.unitPrice)}</td>
                <td class="number">{money(item.cost)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </details>
  );
}
