import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chooseJava,
  majorOfVersion,
  parseJavaVersionOutput,
  parseReleaseFile,
  type JavaInstall,
} from '../../tools/stack/java.js';

describe('java version parsing', () => {
  it('when versions use the old and new schemes, then the major is right', () => {
    assert.equal(majorOfVersion('1.8.0_392'), 8);
    assert.equal(majorOfVersion('17.0.15'), 17);
    assert.equal(majorOfVersion('21'), 21);
    assert.equal(majorOfVersion('25-ea'), 25);
    assert.equal(majorOfVersion('garbage'), undefined);
  });

  it('when given `java -version` output, then the quoted version is taken', () => {
    const out =
      'openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)';
    assert.equal(parseJavaVersionOutput(out), '17.0.15');
    assert.equal(parseJavaVersionOutput('bash: java: command not found'), undefined);
  });

  it('when given a JDK release file, then JAVA_VERSION is taken', () => {
    assert.equal(parseReleaseFile('IMPLEMENTOR="Eclipse Adoptium"\nJAVA_VERSION="25.0.3"\n'), '25.0.3');
  });
});

describe('java choice', () => {
  const jdk = (major: number, source: string, home = `/jdk${major}-${source}`): JavaInstall => ({
    java: `${home}/bin/java`,
    home,
    major,
    version: `${major}.0.1`,
    source,
  });

  it('when PATH has 17 and a search folder has 25, then 25 is chosen for the registry', () => {
    const chosen = chooseJava([jdk(17, 'PATH'), jdk(25, '/usr/lib/jvm')], 21, undefined);
    assert.equal(chosen?.major, 25);
  });

  it('when JAVA_HOME is new enough, then it is preferred over a newer one found by searching', () => {
    const chosen = chooseJava([jdk(21, 'JAVA_HOME'), jdk(25, '/usr/lib/jvm')], 21, undefined);
    assert.equal(chosen?.source, 'JAVA_HOME');
  });

  it('when only Java 17 exists, then none is chosen', () => {
    assert.equal(chooseJava([jdk(17, 'PATH')], 21, undefined), undefined);
  });

  it('when STACK_JAVA_HOME names a JDK that is too old, then no other JDK is silently used', () => {
    const found = [jdk(17, 'STACK_JAVA_HOME'), jdk(25, '/usr/lib/jvm')];
    assert.equal(chooseJava(found, 21, '/jdk17-STACK_JAVA_HOME'), undefined);
  });
});
