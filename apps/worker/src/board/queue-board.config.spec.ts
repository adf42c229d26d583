import { ConfigurationError } from '@countersign/common';
import { hashSecret } from '@countersign/security';
import { loadQueueBoardConfig } from './queue-board.config.js';

describe('queue board configuration', () => {
  let hash: string;

  beforeAll(async () => {
    hash = await hashSecret('board-password');
  });

  it('leaves the board off when neither variable is set', () => {
    expect(loadQueueBoardConfig({})).toBeUndefined();
  });

  it('enables the board when both variables are set', () => {
    expect(
      loadQueueBoardConfig({ WORKER_BOARD_USERNAME: 'ops', WORKER_BOARD_PASSWORD_HASH: hash }),
    ).toEqual({ username: 'ops', passwordHash: hash });
  });

  it('refuses a user without a hash and a hash without a user', () => {
    expect(() => loadQueueBoardConfig({ WORKER_BOARD_USERNAME: 'ops' })).toThrow(
      /WORKER_BOARD_USERNAME and WORKER_BOARD_PASSWORD_HASH must be set together/,
    );
    expect(() => loadQueueBoardConfig({ WORKER_BOARD_PASSWORD_HASH: hash })).toThrow(
      ConfigurationError,
    );
  });

  it('refuses a plain password where the scrypt hash belongs, without echoing it', () => {
    let message = '';
    try {
      loadQueueBoardConfig({ WORKER_BOARD_USERNAME: 'ops', WORKER_BOARD_PASSWORD_HASH: 'hunter2' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('WORKER_BOARD_PASSWORD_HASH: must be a scrypt');
    expect(message).not.toContain('hunter2');
  });

  it('refuses a user name with a colon (it could never be presented in a Basic header)', () => {
    expect(() =>
      loadQueueBoardConfig({ WORKER_BOARD_USERNAME: 'ops:1', WORKER_BOARD_PASSWORD_HASH: hash }),
    ).toThrow(/WORKER_BOARD_USERNAME: must be/);
  });
});
