/** Notices: what the user is told, one per id, so a repeat replaces the one shown. */
import type { HumanError } from "../errors.ts";
import type { ChatState } from "./model.ts";

export interface Notice extends HumanError {
  id: string;
  retry?: { clientMessageId: string; text: string };
}

export function withNotice(state: ChatState, id: string, error: HumanError, retry?: Notice["retry"]): ChatState {
  const seq = state.seq + 1;
  const notice: Notice = { ...error, id, ...(retry && { retry }) };
  return { ...state, seq, notices: [...state.notices.filter((n) => n.id !== id), notice] };
}

export function withoutNotice(state: ChatState, id: string): ChatState {
  return state.notices.some((n) => n.id === id) ? { ...state, notices: state.notices.filter((n) => n.id !== id) } : state;
}
