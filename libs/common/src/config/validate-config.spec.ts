import { Type } from 'class-transformer';
import { IsInt, IsString, Max, Min, ValidateNested, IsArray } from 'class-validator';
import { ConfigurationError, validateConfig } from './validate-config.js';

class Inner {
  @IsString()
  name!: string;
}

class Schema {
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  LISTENER_PORT = 9443;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => Inner)
  items: Inner[] = [];
}

describe('validateConfig', () => {
  it('applies defaults and converts declared types', () => {
    const config = validateConfig(Schema, { LISTENER_PORT: '8443' }, { source: 'env' });
    expect(config.LISTENER_PORT).toBe(8443);
    expect(config.items).toEqual([]);
  });

  it('stops with a message that names the setting and the rule', () => {
    expect(() => validateConfig(Schema, { LISTENER_PORT: '70000' }, { source: 'env' })).toThrow(
      /LISTENER_PORT: must not be greater than 65535/,
    );
  });

  it('names the path of a nested setting', () => {
    try {
      validateConfig(Schema, { items: [{ name: 3 }] }, { source: 'profiles.json' });
      throw new Error('expected a ConfigurationError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toContain('profiles.json');
      expect((error as Error).message).toContain('items.0.name: must be a string');
    }
  });

  it('refuses unknown keys in files', () => {
    expect(() =>
      validateConfig(
        Schema,
        { LISTENER_PORT: 1, typo: true },
        { source: 'f', forbidUnknown: true },
      ),
    ).toThrow(/typo/);
  });
});
