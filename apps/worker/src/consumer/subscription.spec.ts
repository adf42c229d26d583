import { subscriptionMatches } from './subscription.js';

describe('subscriptionMatches', () => {
  const consumer = (events: string[], profiles?: string[]) => ({ events, profiles });

  it('matches any event with *', () => {
    expect(subscriptionMatches(consumer(['*']), 'template-modified', 'docusign')).toBe(true);
  });

  it('matches a prefix wildcard only on that prefix', () => {
    const envelopes = consumer(['envelope-*']);
    expect(subscriptionMatches(envelopes, 'envelope-completed', 'p')).toBe(true);
    expect(subscriptionMatches(envelopes, 'recipient-completed', 'p')).toBe(false);
    expect(subscriptionMatches(envelopes, 'xenvelope-completed', 'p')).toBe(false);
  });

  it('matches an exact name exactly, with no regular-expression meaning in it', () => {
    expect(subscriptionMatches(consumer(['envelope.sent']), 'envelopeXsent', 'p')).toBe(false);
    expect(subscriptionMatches(consumer(['envelope-sent']), 'envelope-sent', 'p')).toBe(true);
    expect(subscriptionMatches(consumer(['envelope-sent']), 'envelope-sent-2', 'p')).toBe(false);
  });

  it('restricts to the listed profiles when profiles are given', () => {
    const scoped = consumer(['*'], ['eu']);
    expect(subscriptionMatches(scoped, 'envelope-sent', 'eu')).toBe(true);
    expect(subscriptionMatches(scoped, 'envelope-sent', 'us')).toBe(false);
  });
});
