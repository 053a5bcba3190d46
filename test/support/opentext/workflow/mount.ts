/**
 * Mounts the Workflow Service fake in the combined OpenText fake (`../server.ts`): a `FakeHandler`
 * over the fake's transport-blind core. The combined server has already applied its own fault
 * rules and resolved the bearer token through its OTDS fake, so the caller here is the token's
 * subject with its OTDS groups, as Workflow Service sees an OCP token.
 */
import type { FakeHandler } from '../types.js';
import { createWorkflowFake, type WorkflowFake, type WorkflowFakeOptions } from './fake.js';

export function workflowModule(fake: WorkflowFake): FakeHandler {
  return async (req, caller) => {
    const url = new URL(`${req.path}${req.query.size ? `?${req.query.toString()}` : ''}`, 'http://fake');
    const answered = await fake.answer({
      method: req.method,
      url,
      body: req.body,
      caller: { sub: caller.subject, groups: caller.groups },
    });
    // The combined server dispatches only the two API prefixes here, so null means a path
    // outside them: answer as the service does for an unknown route.
    if (answered === null) {
      return { status: 404, body: { message: 'Not found', exception: `No route for ${req.path}` } };
    }
    if (answered === 'reset') return { status: 0, reset: true };
    return answered;
  };
}

/** The same, under the name the connector's tests use. */
export const mountWorkflowFake = workflowModule;

/** A Workflow Service fake and the module that mounts it: `new OpenTextFake({ workflow: mounted.module })`. */
export function createMountedWorkflowFake(options: WorkflowFakeOptions = {}): {
  fake: WorkflowFake;
  module: FakeHandler;
} {
  const fake = createWorkflowFake(options);
  return { fake, module: workflowModule(fake) };
}
