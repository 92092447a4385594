import type { Answer } from "@/lib/mesh";

/** Each service's answer: its status (data-status, for the tests) and its JSON body. */
export function AnswersTable({ id, answers }: { id: string; answers: Answer[] }) {
  return (
    <table id={id}>
      <thead>
        <tr>
          <th>Service</th>
          <th>Status</th>
          <th>Answer</th>
        </tr>
      </thead>
      <tbody>
        {answers.map(({ service, url, status, body }) => (
          <tr key={service} data-service={service} data-status={status ?? "none"}>
            <td>
              {service}
              <br />
              <span className="muted">{url}</span>
            </td>
            <td className={status === 200 ? "ok" : "refused"}>{status ?? "no answer"}</td>
            <td>
              <pre>{JSON.stringify(body, null, 1)}</pre>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
