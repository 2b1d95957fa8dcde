// The Responses API (/v1/responses) on the gateway: requests translated to chat
// completions, answers and stream events translated back, stored responses.
// Wiring (app.ts): new Responses(store); routes in http/v1-responses.ts.
export { Responses, type PreparedResponse, type ResponsesStore, type RunningResponse } from './responses.ts';
export { parseResponsesBody, toChatMessages, type InputItem, type ResponseEcho, type ResponsesBody } from './request.ts';
export { ResponseEventWriter, responseIdOfItem, responseObject, responseUsage, type OutputItem, type ResponseHead } from './wire.ts';
