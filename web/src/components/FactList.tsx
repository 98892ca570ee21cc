export interface Fact {
  label: string;
  value: string;
}

/** Label/value pairs. Values are plain text: agent-supplied strings are never parsed as HTML. */
export function FactList({ facts }: { facts: readonly Fact[] }) {
  return (
    <dl className="facts">
      {facts.map((fact) => (
        <div className="facts__item" key={fact.label}>
          <dt>{fact.label}</dt>
          <dd>{fact.value}</dd>
        </div>
      ))}
    </dl>
  );
}
