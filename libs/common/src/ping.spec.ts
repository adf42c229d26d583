import { Test } from '@nestjs/testing';
import { ping, PingService } from './ping.js';

describe('ping', () => {
  it('works under ESM', async () => {
    const mod = await Test.createTestingModule({ providers: [PingService] }).compile();
    expect(mod.get(PingService).ping()).toBe('cG9uZw');
    expect(ping()).toBe('cG9uZw');
  });
});
