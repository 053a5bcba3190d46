/** Process instance comments API (reference §7.6): the audit trail inside the case in OpenText's UI. */
import { z } from 'zod';
import { dateString, DEFAULT_COUNT, send, sendFor, sendForList, type HalPage, type Paging } from './rest.js';
import { segment, type WorkflowRequest, type WorkflowTransport } from './transport.js';

export const commentSchema = z.looseObject({
  id: z.string(),
  author: z.string().nullish(),
  message: z.string().nullish(),
  processInstanceId: z.string().nullish(),
  time: dateString,
});
export type WorkflowComment = z.infer<typeof commentSchema>;

const base = (processInstanceId: string) => `/process-instances/${segment(processInstanceId)}/comments`;

export function listCommentsRequest(processInstanceId: string, paging: Paging = {}): WorkflowRequest {
  return {
    base: 'service',
    method: 'GET',
    path: base(processInstanceId),
    query: { offset: paging.offset ?? 0, count: paging.count ?? DEFAULT_COUNT },
    idempotent: true,
  };
}

export function addCommentRequest(processInstanceId: string, message: string): WorkflowRequest {
  // Not idempotent: a repeat would add the comment twice.
  return {
    base: 'service',
    method: 'POST',
    path: base(processInstanceId),
    body: { includeUserIds: false, message },
    idempotent: false,
  };
}

export function deleteCommentRequest(processInstanceId: string, commentId: string): WorkflowRequest {
  return {
    base: 'service',
    method: 'DELETE',
    path: `${base(processInstanceId)}/${segment(commentId)}`,
    idempotent: true,
  };
}

export class CommentsApi {
  constructor(private readonly transport: WorkflowTransport) {}

  list(processInstanceId: string, paging: Paging = {}): Promise<HalPage<WorkflowComment>> {
    return sendForList(
      this.transport,
      listCommentsRequest(processInstanceId, paging),
      'comments',
      commentSchema,
    );
  }

  /** The created comment; its fields are assumed to be those of the list's items [I]. */
  add(processInstanceId: string, message: string): Promise<WorkflowComment> {
    return sendFor(this.transport, addCommentRequest(processInstanceId, message), commentSchema);
  }

  async delete(processInstanceId: string, commentId: string): Promise<void> {
    await send(this.transport, deleteCommentRequest(processInstanceId, commentId));
  }
}
