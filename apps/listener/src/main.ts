import 'reflect-metadata';
import { ping } from '@countersign/common';

console.log(ping());
