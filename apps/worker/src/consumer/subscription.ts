import type { ResolvedConsumerOptions } from './consumer-options.js';

function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`);
}

/** Whether a consumer's subscription covers a delivery: its event name and its profile. */
export function subscriptionMatches(
  consumer: Pick<ResolvedConsumerOptions, 'events' | 'profiles'>,
  event: string,
  profile: string,
): boolean {
  if (consumer.profiles && !consumer.profiles.includes(profile)) return false;
  return consumer.events.some((pattern) => patternToRegExp(pattern).test(event));
}
