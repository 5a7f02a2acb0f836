// Pieces shared by the rows of the Snapshots view (single snapshots and group snapshots): the
// verification badge and the confirm/cancel step before a restore or delete.

/** "verified", or the word for a file that failed verification with the reason under it. */
export function VerificationBadge(props: { verified: boolean; failedAs: string; error?: string }) {
  if (props.verified) return <span className="badge badge-running">verified</span>;
  return (
    <>
      <span className="badge badge-corrupt">{props.failedAs}</span>
      <div className="snapshots-error">{props.error}</div>
    </>
  );
}

/** The question a destructive action asks, its button and Cancel. */
export function ConfirmStep(props: { question: string; action: string; onConfirm: () => void; onCancel: () => void }) {
  return (
    <>
      <span className="muted">{props.question}</span>
      <button className="button small danger" onClick={props.onConfirm}>
        {props.action}
      </button>
      <button className="button small" onClick={props.onCancel}>
        Cancel
      </button>
    </>
  );
}
