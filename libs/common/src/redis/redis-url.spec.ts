import { hostPortListProblem, redisOptionsFromUrl, redisUrlProblem } from './redis-url.js';

describe('Redis URL and seed node checks', () => {
  it.each([
    'redis://127.0.0.1:6379',
    'redis://:p%40ss@redis.internal:6380/2',
    'rediss://user:pass@redis.example:6380',
  ])('accepts %s', (url) => {
    expect(redisUrlProblem(url)).toBeUndefined();
  });

  it.each([
    ['a port over 65535', 'redis://:secret-pw@127.0.0.1:99999'],
    ['a host that is not one', 'redis://:secret-pw@[bad/6379'],
    ['a database that is not a number', 'redis://:secret-pw@127.0.0.1:6379/abc'],
    ['another scheme', 'http://:secret-pw@127.0.0.1:6379'],
  ])('refuses a URL with %s, never quoting it', (_, url) => {
    const problem = redisUrlProblem(url);
    expect(problem).toBeDefined();
    expect(problem).not.toContain('secret');
  });

  it('throws its own error, without the URL, when asked for options of an unusable URL', () => {
    expect(() => redisOptionsFromUrl('redis://:secret-pw@127.0.0.1:99999')).toThrow(
      /^REDIS_URL is not a valid URL$/,
    );
  });

  it.each(['a:7000', 'a:7000,b:65535'])('accepts the seed nodes %s', (nodes) => {
    expect(hostPortListProblem(nodes)).toBeUndefined();
  });

  it.each(['a:0', 'a:65536', 'a:99999', ':7000', 'a:7000,b:x'])(
    'refuses the seed nodes %s',
    (nodes) => {
      expect(hostPortListProblem(nodes)).toBeDefined();
    },
  );
});
