/**
 * The error-budget gate a deploy passes first (model/canary.ts states the rule): Prometheus is
 * asked, through the read-only query path, whether a fast-burn SLO alert fires for the service and
 * how much of its 30-day budget remains. A gate that cannot ask does not let the deploy through.
 */
import { gateQueries, judgeGate, type GateVerdict } from "../../model/canary";
import { instantQuery, QueryPathError, TOKEN_VARIABLE, URL_VARIABLE, type QueryPath } from "./prometheus";

const CANNOT_CHECK = "so the error budget cannot be checked";
const FORCE = "or pass --force to deploy without the check";

/** Not allowed when the path is unset or does not answer: the reason says which, and what to set. */
export async function errorBudgetGate(
  path: QueryPath | undefined,
  service: string,
  minRemainingPercent: number,
  fetchImpl: typeof fetch = fetch,
): Promise<GateVerdict> {
  if (!path)
    return {
      allowed: false,
      fastBurnFiring: false,
      reason: `no query path to Prometheus, ${CANNOT_CHECK}: set ${URL_VARIABLE} to the read-only query path (and ${TOKEN_VARIABLE} if it wants a bearer token), ${FORCE}`,
    };
  const q = gateQueries(service);
  try {
    const [firing, remaining] = await Promise.all([
      instantQuery(path, q.fastBurn, fetchImpl),
      instantQuery(path, q.budgetRemaining, fetchImpl),
    ]);
    const percent = remaining[0]?.value;
    return judgeGate({
      fastBurnFiring: firing.length > 0,
      // NaN: traffic series exist but served nothing over the window.
      budgetRemainingPercent: percent === undefined || Number.isNaN(percent) ? undefined : percent,
      minRemainingPercent,
    });
  } catch (e) {
    if (!(e instanceof QueryPathError)) throw e;
    return {
      allowed: false,
      fastBurnFiring: false,
      reason: `the query path did not answer (${e.message}), ${CANNOT_CHECK}: check ${URL_VARIABLE} and ${TOKEN_VARIABLE}, ${FORCE}`,
    };
  }
}
