/** The sample's demo accounts (username → password), shown on the index page. Never do this in a real app. */
export const DEMO_USERS: Readonly<Record<string, string>> = Object.freeze({ alice: 'wonderland', bob: 'builder' });
